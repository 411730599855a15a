"""Payment for paid environments: the gate a paid start passes before its job runs."""

from provider.payments.base import NoPayments, PaymentGate, PaymentGrant

__all__ = ["NoPayments", "PaymentGate", "PaymentGrant"]
