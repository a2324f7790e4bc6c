"""E-mail to a process: the SMTP receiver.

- ``plainrun.triggers.mail.handler``: the aiosmtpd handler (refuses at RCPT, accepts at DATA).
- ``plainrun.triggers.mail.server``: start and stop the SMTP server, for ``plainrun serve`` and
  ``plainrun smtp``.

Messages are parsed by ``plainrun.domain.mail`` and turned into runs by ``plainrun.services.mail``.
"""
