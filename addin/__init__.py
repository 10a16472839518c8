"""dtfund: everything that meets a workbook or a person — reading and writing workbooks, the template
generator, the check pipeline, the xlwings UDFs and the `dtfund` command."""
