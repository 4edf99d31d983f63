"""Activity: the task list and a task's page with live progress, cancel and edit."""
