"""The application layer: what the bot does, for any channel.

Use cases (one module per area: `commands`, `reports`, `review`, `decisions`, `files`,
`supervision`) take plain inputs — who is speaking (`Caller`), what they said (`Said`, with
the bot message it answers), a button's action (`Press`) — and answer through a
`Conversation`, the port to the chat the input came from, with messages as data (`Reply`:
text in Luoshi markup, buttons as action rows, a question to be answered by reply, an
attachment). Whoever else must be told (admins, the task's 责任人, its 责任领导) is reached
through the services' `Sender` port (`bot.alerts`), whose outcomes say who was told.

Nothing here imports `telegram` or a channel adapter (tests/unit/test_layers.py): a channel
(bot/tg/ for Telegram) parses its events into these inputs, implements `Conversation`, and
renders `Reply`.
"""
