"""The words of every report, in Indonesian (``id``) and English (``en``)."""
