"""The SLO benchmark of the todo-chatbot (`make bench`, issue 6): figures for each criterion.

Modules: `kube` (the apiserver, as the admin), `release` (the benchmark's own Helm releases),
`netns` (runs the load inside the end user's network namespace), `load` (virtual users),
`pageload` (headless Chromium page loads), `host` (machine, versions, memory, build figures),
`scenarios` (one function per success criterion), `stats` (percentiles and summaries),
`report` (table, JSON, plot, docs/benchmarks.md) and `main` (the command line).
"""
