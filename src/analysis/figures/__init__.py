"""Figures. One module per subject (``did``, ``service_time``, ``budget``, ``maps``); every function
takes result objects or DataFrames, draws on a matplotlib Axes/Figure and returns it. Every label
comes from the text catalogue (``analysis.texts``) in the language the caller passes (``lang``,
``id`` or ``en``; there is no default). Nothing here computes estimates."""
