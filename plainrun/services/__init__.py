"""Services: the only code that changes state. Routes, the CLI, the mail receiver and the
scheduler parse their input, call a service, and render what it returns."""
