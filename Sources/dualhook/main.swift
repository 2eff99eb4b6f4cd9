print("dualhook")
