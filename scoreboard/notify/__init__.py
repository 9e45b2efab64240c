"""Notifications that reach fans and sites when no page is open: Web Push and signed webhooks.

How an event becomes a notification (README "Notifications", docs/architecture.md):

    commit -> feed (durable: a per-match cursor on SQLite, a consumer group on Redis)
           -> Notifier: webhook deliveries queued durably, push alert built once
           -> sender (a child process by default: aes128gcm + HTTP, bounded concurrency)
           -> the browser vendor's push service / the site's webhook URL (through the guard)

Modules, one job each: `vapid` (keys and the ES256 JWT), `webpush` (RFC 8291 encryption),
`alerts` (what a fan is shown for an event), `guard` (which addresses we may call), `sender`
(push HTTP with retries), `worker` + `pool` (the sender process and its pipe), `signing` and
`webhooks` (signed deliveries in order), `endpoints` (managing webhook endpoints), `feed`
(the durable event cursor), `notifier` (ties them), `store/` (subscriptions, endpoints,
queues, keys: SQLite and Redis side by side).
Nothing here imports aiohttp's server side: the HTTP edge is `scoreboard.web.api.push` and `.webhooks`.
"""
