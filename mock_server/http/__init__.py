"""HTTP adapters: connexion wiring, middleware and thin handlers over the domain."""
