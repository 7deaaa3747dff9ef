module kindops.local/products/coffee/order

go 1.26
