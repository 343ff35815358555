"""Routers, one module per Command resource."""
