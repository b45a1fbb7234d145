"""Directives (tin nhắn điều hành): audience, exact delivery plan, durable sending, reads."""
