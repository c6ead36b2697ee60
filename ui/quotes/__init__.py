"""Quotes in the customer 360 view: the list, the editor, the approval and the printout.

``panel.QuotesPanel`` is the Quotes tab; ``editor.QuoteEditor`` prices a trim with its colour,
options and fees; ``printing`` previews, prints and saves the PDF. Every database and PDF job
goes through the task runner; the core checks each permission and raises typed errors.
"""
