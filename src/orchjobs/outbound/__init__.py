"""Outbound HTTP: the calls the service makes to other systems (webhook deliveries). The service never imports an
HTTP library; it is handed a sender from here by `create_app`, which is the only module that wires the two."""
