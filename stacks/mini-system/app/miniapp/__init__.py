"""miniapp: the mini-system's three HTTP services (login, messaging, payment) in one package.

``python -m miniapp login|messaging|payment`` serves one of them on 0.0.0.0:8000.
"""

SERVICES = ("login", "messaging", "payment")
