"""Theory to compare races with: exact formulas, Laplace/Gibbs mass and Kramers times, NUTS occupation."""
