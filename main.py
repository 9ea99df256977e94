"""The cdk8s app: `cdk8s synth` writes the chart's manifests to dist/todo-chatbot.k8s.yaml.

The manifests carry the Helm layer's marks (see todo_chatbot.helm); the
post-step `python -m todo_chatbot.helm_chart` turns them into the Helm chart
dist/todo-chatbot. `make chart` runs both and packages the chart.
"""

import cdk8s
from todo_chatbot import TodoChatbot
from todo_chatbot.helm import add_external_secret, add_pod_monitor, chart_props

app = cdk8s.App()
chart = TodoChatbot(app, "todo-chatbot", props=chart_props())
add_pod_monitor(chart)
add_external_secret(chart)
app.synth()
