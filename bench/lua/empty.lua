-- empty: start-up cost only; prints 0.
print("0")
