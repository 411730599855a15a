"""The consumer client, as devkit's tools, the tests and bench import it. It lives with the
consumer's commands (``provider/commands/consumer/client.py``) so that the image, which has no
devkit, has it too."""

from provider.commands.consumer.client import C2DClient, ProviderError, Signer, sign_request

__all__ = ["C2DClient", "ProviderError", "Signer", "sign_request"]
