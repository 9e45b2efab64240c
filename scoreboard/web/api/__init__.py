"""The JSON HTTP API (`/api/...`): match and event handlers, the OpenAPI document, its docs page."""
