"""Settlement of receivables: bank deposits matched to the unsettled sales they pay, fees booked.

``statement.py`` reads the bank exports; ``matching.py`` runs the day's set-based SQL (prepare →
rounds → finish) and the checks; ``schema.sql`` holds the tables and the report views.
"""
