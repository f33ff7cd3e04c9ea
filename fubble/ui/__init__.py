"""The dashboard for people at ``/ui``: server-rendered pages over the same services, scopes and transactions as the
JSON API, signed in with an API key kept in a session cookie (:mod:`fubble.ui.auth`)."""
