"""Signing in and out with Globus Auth: the views, the sign-in service, `g.user` and the
global sign-in guard (`app.auth.decorators`)."""
