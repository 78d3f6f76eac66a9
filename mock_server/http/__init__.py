"""HTTP adapters: connexion wiring, middleware and thin handlers over the domain."""

import warnings

# connexion 3.3 imports starlette.testclient at start-up, which warns about httpx on every `serve`;
# the mock never uses the test client, so the warning is noise on the user's first screen.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
