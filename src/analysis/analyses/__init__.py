"""The analyses the notebooks show, one module per question: each loads what it needs, calls the
estimators and returns facts (results objects, tables, numbers); the words are in ``analysis.texts``.
"""
