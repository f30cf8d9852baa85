"""The local sandbox: the same bot against a built-in Telegram-compatible server and a web
chat page, for offices that cannot reach Telegram or have no token yet."""
