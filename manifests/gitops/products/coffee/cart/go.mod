module kindops.local/products/coffee/cart

go 1.26
