"""What the emulator's tests share."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def refused(call, **parameters) -> str:
    """Call, expecting ECS's InvalidParameterException; its message."""
    with pytest.raises(ClientError) as caught:
        call(**parameters)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException", caught.value
    return caught.value.response["Error"]["Message"]
