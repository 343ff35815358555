"""HTTP: FastAPI routers for /KeyfactorAPI, wire schemas, auth and the mapping of errors to responses."""
