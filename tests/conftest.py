"""Settings every test needs before any import of cdk8s."""

import os

# jsii prints a banner on every start under Node 20; the project pins Node 20
# (the machine's), and the banner would bury test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
