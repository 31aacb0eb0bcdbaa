"""The heavy services. Each module imports its SDK at module level, the ordinary way; with
``lazymed.install()`` those imports are lazy and the SDK loads on the first request that uses it.

Each module names the import it depends on in ``MODULE`` so the app can ask
``lazymed.enabled(MODULE)`` before using it.
"""
