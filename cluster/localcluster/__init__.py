"""A single-node Kubernetes cluster made of upstream components, run as processes on this host."""
