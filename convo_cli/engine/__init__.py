"""The built-in Conversations engine: Twilio's Conversations REST API v1 on SQLite.

Layers: `store` (all SQL) ◄ `service` (domain rules, Twilio error codes; no HTTP) ◄ `wire`
(form-encoded requests in, Twilio JSON out). `Engine.handle` is the one entry point, shared
by the in-process transport (`inprocess`) and `convo serve`.
"""
