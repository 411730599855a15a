"""The consumer's side of paid compute, as the examples and tests import it. It lives with the
consumer's commands (``provider/commands/consumer/ordering.py``) so that the image, which has no
devkit, has it too."""

from provider.commands.consumer.ordering import (
    PaymentError,
    ReportingChainClient,
    authorize_escrow,
    check_can_pay,
    deposit_escrow,
    fee_tuple,
    format_amount,
    fund_escrow,
    order_inputs,
    reuse_order,
    start_order,
    with_orders,
)

__all__ = [
    "PaymentError",
    "ReportingChainClient",
    "authorize_escrow",
    "check_can_pay",
    "deposit_escrow",
    "fee_tuple",
    "format_amount",
    "fund_escrow",
    "order_inputs",
    "reuse_order",
    "start_order",
    "with_orders",
]
