"""The pure domain: ledger, lifecycle, people, invites.

Modules in this package import only the standard library (a test enforces it): no telegram,
no tinydb, no apscheduler. Time always comes from an injected clock.
"""
