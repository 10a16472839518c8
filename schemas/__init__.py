"""The fund's rules: policy parameters, the rule registry, the pandera schema and the calculations.

This package holds the rules and nothing else: no workbook I/O, no openpyxl, no xlwings.
"""
