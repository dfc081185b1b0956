"""What openai-python's own docstrings say about models, read from the installed SDK,
so the package's table and the stand-in are checked against the SDK's words."""

import inspect
import re

from openai.types import image_edit_params, image_generate_params

PARAMS_MODULES = [image_generate_params, image_edit_params]


def _text(module: object) -> str:
    return " ".join(inspect.getsource(module).split())  # type: ignore[arg-type]


def models_named_in(module: object, before: str) -> set[str]:
    """The `gpt-image-...` names the SDK's docstring lists before `before`."""
    paragraph = re.search(rf"For ((?:`gpt-image-[^`]+`,? (?:and )?)+){before}", _text(module))
    assert paragraph is not None
    return set(re.findall(r"`(gpt-image-[^`]+)`", paragraph.group(1)))


def models_with_top_qualities(module: object) -> set[str]:
    """The models, with their snapshots, that the `quality` docstring says "also
    support `xhigh` and `max`"."""
    sentence = re.search(
        r"((?:`gpt-image-[^`]+`,? (?:and )?)+)including their `(\d{4}-\d{2}-\d{2})` "
        r"snapshots, also support `xhigh` and `max`",
        _text(module),
    )
    assert sentence is not None
    names = set(re.findall(r"`(gpt-image-[^`]+)`", sentence.group(1)))
    return names | {f"{name}-{sentence.group(2)}" for name in names}
