"""Admin pages for the people who run collections: access rules, roles, the activity
monitor and the audit log. Every page checks the user's roles at Globus first."""
