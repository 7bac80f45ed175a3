"""Provider webhooks: verify the signature, then update or retire the cached entries.

The route that receives them is gateway/http/webhooks.py.
"""
