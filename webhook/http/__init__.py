"""The HTTP side of the service: the Flask app the network servers call (:func:`create_app`)."""

from webhook.http.app import create_app

__all__ = ["create_app"]
