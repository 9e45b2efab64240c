"""Cross-instance fan-out: how an event committed on one instance reaches every other one.

`redis.StreamFollower` reads the Redis stream that `store.redis.RedisStore` appends one entry
to per commit, and the store turns each entry into the same `Committed` the embedded store
hands its listeners. So the service and hub never know whether they run alone or beside
others; each instance delivers each event once, in order, through its own in-process hub.
"""
