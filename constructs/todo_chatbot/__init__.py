"""cdk8s constructs for the todo-chatbot."""
