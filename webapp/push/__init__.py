"""Web Push: VAPID, messages and their encryption, endpoint rules, the HTTP client and the sender."""
