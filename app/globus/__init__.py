"""The one door to Globus: OAuth (authlib), the token store, and Transfer (globus-sdk).

Nothing outside this package imports globus_sdk, authlib's client or requests.
"""
