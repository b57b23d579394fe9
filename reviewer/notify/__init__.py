"""Notifications to experts and host units: the store's outbox, templates, and the e-mail / SMS senders (issue 16)."""
