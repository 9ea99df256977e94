"""The project's build toolchain: Go tools from the module proxy, and the helpers images share.

`pins` holds every tool version; `catalog` says how each tool is built (`monitoring`: the
Prometheus Operator and Prometheus); `installer` builds one into the versioned cache and links
it; `golang` and `wrapper` drive the Go toolchain; `progress` runs commands with a heartbeat;
`resources` reads the memory and disk a build or the local cluster needs. tools/gotools.py is
the command line.
"""
