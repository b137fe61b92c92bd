"""HTTP routes: translate requests to service calls and service results to responses."""
