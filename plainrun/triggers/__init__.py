"""What starts runs besides people: e-mail to a process's address (``mail``) and the clock
(``scheduler``). Each parses what arrives and calls a service."""
