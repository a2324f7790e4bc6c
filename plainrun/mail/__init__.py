"""E-mail to a process: the SMTP receiver and the e-mail facts a run reads as ``the email``.

- ``plainrun.mail.message``: parse a message into facts and attachments (stdlib ``email`` only,
  light enough for executor processes).
- ``plainrun.mail.handler``: the aiosmtpd handler (refuses at RCPT, accepts at DATA).
- ``plainrun.mail.server``: start and stop the SMTP server, for ``plainrun serve`` and ``plainrun smtp``.
"""
