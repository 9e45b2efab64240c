"""The JSON HTTP API (`/api/...`): match and event handlers, push subscriptions and webhooks
(with their wiring and the service worker route), the OpenAPI document, its docs page."""
