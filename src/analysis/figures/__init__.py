"""Figures. One module per subject (``did``, ``service_time``, ``budget``, ``maps``); every function
takes result objects or DataFrames, draws on a matplotlib Axes/Figure and returns it. Labels come in
Indonesian or English (``lang``). Nothing here computes estimates."""
